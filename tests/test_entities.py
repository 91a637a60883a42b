"""Tests for the entities target format (pii_gemini._entities)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._align import align
from pii_gemini._entities import (
    format_entities,
    ground_entities,
    ground_entities_detailed,
    parse_entities,
    render_masked,
)
from pii_gemini._exceptions import ConfigError
from pii_gemini._types import Span

PAIRS = [("FIRSTNAME", "Ann"), ("PHONENUMBER", "555-0101")]


@pytest.mark.parametrize(
    "output",
    [
        '[{"label": "FIRSTNAME", "value": "Ann"}, {"label": "PHONENUMBER", "value": "555-0101"}]',
        '```json\n[{"label": "FIRSTNAME", "value": "Ann"},'
        ' {"label": "PHONENUMBER", "value": "555-0101"}]\n```',
        "Here are the entities:\n[{'label': 'FIRSTNAME', 'value': 'Ann'}, "
        "{'label': 'PHONENUMBER', 'value': '555-0101'},]\nHope this helps!",
        '{"entities": [{"type": "[FIRSTNAME_1]", "text": "Ann"}, '
        '{"type": "phonenumber", "text": "555-0101"}]}',
        '[["FIRSTNAME", "Ann"], ["PHONENUMBER", "555-0101"]]',
        '{"label": "FIRSTNAME", "value": "Ann"} {"label": "PHONENUMBER", "value": "555-0101"}',
        '[{"value": "Ann", "label": "FIRSTNAME"}, {"value": "555-0101", "label": "PHONENUMBER"',
        "FIRSTNAME: Ann\nPHONENUMBER: 555-0101",
    ],
)
def test_parse_entities_tolerant(output: str) -> None:
    assert parse_entities(output) == PAIRS


@pytest.mark.parametrize("output", ["", "[]", "no entities here", "{}"])
def test_parse_entities_nothing(output: str) -> None:
    assert parse_entities(output) == []


def test_parse_entities_bad_type() -> None:
    with pytest.raises(TypeError):
        parse_entities(None)  # type: ignore[arg-type]


def test_parse_entities_unicode_and_escapes() -> None:
    out = json.dumps([{"label": "LASTNAME", "value": 'Ång "Zoë"'}], ensure_ascii=True)
    assert parse_entities(out) == [("LASTNAME", 'Ång "Zoë"')]


def test_ground_exact_and_repeated_values() -> None:
    src = "Ann called Ann's friend Ann."
    spans = ground_entities(src, [("FIRSTNAME", "Ann"), ("FIRSTNAME", "Ann")])
    assert [(s.start, s.end) for s in spans] == [(0, 3), (11, 14)]


def test_ground_out_of_order_entities_do_not_overlap() -> None:
    src = "Call 555-0101 or mail Ann"
    spans = ground_entities(src, [("FIRSTNAME", "Ann"), ("PHONENUMBER", "555-0101")])
    assert [(s.label, s.value) for s in spans] == [
        ("PHONENUMBER", "555-0101"),
        ("FIRSTNAME", "Ann"),
    ]


def test_ground_tolerant_matches() -> None:
    src = "Phone 403-555-1234, name ANN SMITH, iban GB12 3456."
    g = ground_entities_detailed(
        src, [("PHONENUMBER", "4035551234"), ("NAME", "Ann  Smith"), ("IBAN", "gb123456")]
    )
    assert [s.value for s in g.spans] == ["403-555-1234", "ANN SMITH", "GB12 3456"]
    assert (g.n_exact, g.n_tolerant, g.n_missing) == (0, 3, 0)
    assert ground_entities(src, [("PHONENUMBER", "4035551234")], tolerant=False) == ()


def test_ground_missing_and_empty_values_are_dropped() -> None:
    g = ground_entities_detailed("Hello Ann", [("NAME", "Bob"), ("NAME", " "), ("NAME", "Ann")])
    assert [s.value for s in g.spans] == ["Ann"]
    assert g.n_missing == 2


def test_render_masked_styles() -> None:
    src = "Ann and Bob met Cy"
    spans = [Span(0, 3, "FIRSTNAME"), Span(8, 11, "FIRSTNAME"), Span(16, 18, "LASTNAME")]
    assert render_masked(src, spans) == "[FIRSTNAME] and [FIRSTNAME] met [LASTNAME]"
    assert (
        render_masked(src, spans, "[LABEL_N]") == "[FIRSTNAME_1] and [FIRSTNAME_2] met [LASTNAME_1]"
    )
    assert render_masked(src, []) == src


def test_render_masked_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="style"):
        render_masked("abc", [], "<LABEL>")
    with pytest.raises(ConfigError, match="overlap"):
        render_masked("abcdef", [Span(0, 3, "A"), Span(2, 4, "B")])
    with pytest.raises(ConfigError, match="beyond"):
        render_masked("abc", [Span(1, 9, "A")])


def test_format_entities_roundtrip() -> None:
    src = "Call Ann at 555-0101"
    spans = (Span(5, 8, "FIRSTNAME", "Ann"), Span(12, 20, "PHONENUMBER", "555-0101"))
    text = format_entities(reversed(spans))
    assert json.loads(text) == [
        {"label": "FIRSTNAME", "value": "Ann"},
        {"label": "PHONENUMBER", "value": "555-0101"},
    ]
    assert ground_entities(src, parse_entities(text)) == spans


_CHARS = "abcXYZ 12-.,é😀"
_LABEL = st.sampled_from(["FIRSTNAME", "CITY", "CODE"])


@st.composite
def text_with_spans(draw: st.DrawFn) -> tuple[str, tuple[Span, ...]]:
    pieces = draw(
        st.lists(
            st.tuples(
                st.text(_CHARS, min_size=1, max_size=5),
                st.text(_CHARS, min_size=1, max_size=6).filter(lambda v: v.strip() == v),
                _LABEL,
            ),
            max_size=5,
        )
    )
    text, spans = "", []
    for lit, val, lab in pieces:
        text += lit
        spans.append(Span(len(text), len(text) + len(val), lab, val))
        text += val
    return text + draw(st.text(_CHARS, max_size=3)), tuple(spans)


@settings(max_examples=150, deadline=None)
@given(text_with_spans())
def test_ground_of_entities_of_spans_returns_the_spans(data: tuple[str, tuple[Span, ...]]) -> None:
    source, spans = data
    entities = parse_entities(format_entities(spans))
    got = ground_entities(source, entities, tolerant=False)
    # exact grounding left to right returns spans with the same values and labels, in order;
    # where a value also occurs earlier (before its own span) the earliest free one is taken
    assert [(s.label, s.value) for s in got] == [(s.label, s.value) for s in spans]
    for s in got:
        assert source[s.start : s.end] == s.value
    prev_end, unique = 0, True
    for s in spans:
        unique = unique and source.find(s.value, prev_end) == s.start
        prev_end = s.end
    if unique:  # no value also occurs between its predecessor and itself: exact same spans
        assert got == spans


@settings(max_examples=150, deadline=None)
@given(text_with_spans())
def test_render_then_align_returns_spans_when_not_ambiguous(
    data: tuple[str, tuple[Span, ...]],
) -> None:
    source, spans = data
    a = align(source, render_masked(source, spans))
    assert a.faithful
    if not a.ambiguous and "split_by_shape" not in a.issues:
        assert a.spans == spans


def test_parse_entities_label_lines_with_brackets_in_values() -> None:
    out = "NEARBYGPSCOORDINATE: [-56.5612,-68.9245]\nCITY: Oslo"
    assert parse_entities(out) == [
        ("NEARBYGPSCOORDINATE", "[-56.5612,-68.9245]"),
        ("CITY", "Oslo"),
    ]
