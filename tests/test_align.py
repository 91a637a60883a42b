"""Tests for span recovery from masked text (pii_gemini._align)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._align import Alignment, align, split_masked
from pii_gemini._types import Span
from pii_gemini.labels import LABELS_200K, PLACEHOLDER_RE


def render(source: str, spans: list[Span] | tuple[Span, ...]) -> str:
    out, last = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(source[last : s.start])
        out.append(f"[{s.label}]")
        last = s.end
    out.append(source[last:])
    return "".join(out)


def values(a: Alignment) -> list[tuple[str, str]]:
    return [(s.label, s.value) for s in a.spans]


def test_simple_two_placeholders_offsets_and_values() -> None:
    src = "Call Anna Berg at 555-0101 today."
    a = align(src, "Call [FIRSTNAME] Berg at [PHONENUMBER] today.")
    assert a.faithful and not a.ambiguous and a.issues == ()
    assert a.spans == (Span(5, 9, "FIRSTNAME", "Anna"), Span(18, 26, "PHONENUMBER", "555-0101"))


def test_indexed_placeholders_drop_the_index() -> None:
    a = align("Hi Jo and Al", "Hi [FIRSTNAME_1] and [FIRSTNAME_2]")
    assert values(a) == [("FIRSTNAME", "Jo"), ("FIRSTNAME", "Al")]


def test_placeholders_at_start_and_end() -> None:
    a = align("Zoe paid 40", "[FIRSTNAME] paid [AMOUNT]")
    assert values(a) == [("FIRSTNAME", "Zoe"), ("AMOUNT", "40")]
    assert a.spans[0].start == 0 and a.spans[1].end == len("Zoe paid 40")


def test_whole_text_is_one_placeholder() -> None:
    assert values(align("x@y.io", "[EMAIL]")) == [("EMAIL", "x@y.io")]


def test_no_placeholder_identical_and_rewritten() -> None:
    assert align("plain text", "plain text") == Alignment((), False, True)
    a = align("plain text", "other words")
    assert not a.faithful and a.spans == () and "rewritten" in a.issues


@pytest.mark.parametrize(
    ("source", "masked", "expected"),
    [
        ("Pay £850,980.75 now", "Pay [CURRENCYSYMBOL][AMOUNT] now", ["£", "850,980.75"]),
        ("Pay kr998k now", "Pay [CURRENCYSYMBOL][AMOUNT] now", ["kr", "998k"]),
        ("Sum 764,336.48Rufiyaa.", "Sum [AMOUNT][CURRENCY].", ["764,336.48", "Rufiyaa"]),
        ("Hello Mr.Kerluke, hi", "Hello [PREFIX][LASTNAME], hi", ["Mr.", "Kerluke"]),
        ("Ms.North, ok", "[PREFIX][MIDDLENAME], ok", ["Ms.", "North"]),
        ("at Elm Old Road 61915, x", "at [STREET] [BUILDINGNUMBER], x", ["Elm Old Road", "61915"]),
        ("on 10/03/1976 4:40 AM.", "on [DATE] [TIME].", ["10/03/1976", "4:40 AM"]),
    ],
)
def test_adjacent_placeholders_split_by_shape(
    source: str, masked: str, expected: list[str]
) -> None:
    a = align(source, masked)
    assert a.faithful and not a.ambiguous
    assert "split_by_shape" in a.issues
    assert [s.value for s in a.spans] == expected


@pytest.mark.parametrize(
    ("source", "masked"),
    [
        ("Mary Ann Smith came", "[FIRSTNAME] [LASTNAME] came"),
        ("abc", "[KEY][CODE]"),
        ("Pay 0.3m$ now", "Pay [AMOUNT][CURRENCYSYMBOL] now"),
    ],
)
def test_undecidable_split_is_flagged_not_silently_guessed(source: str, masked: str) -> None:
    a = align(source, masked)
    assert a.faithful
    assert a.ambiguous
    assert any(i.startswith("ambiguous_split") for i in a.issues)
    assert render(source, a.spans) == masked  # the guess is still a valid placement


def test_two_chars_two_placeholders_is_not_ambiguous() -> None:
    a = align("ab", "[KEY][CODE]")
    # only one placement gives both values at least one character
    assert not a.ambiguous and values(a) == [("KEY", "a"), ("CODE", "b")]


def test_ambiguous_only_marks_the_floating_group() -> None:
    a = align("Mary Ann Smith paid 12", "[FIRSTNAME] [LASTNAME] paid [AMOUNT]")
    assert a.ambiguous
    assert a.spans[2] == Span(20, 22, "AMOUNT", "12")


def test_repeated_values_keep_their_own_offsets() -> None:
    src = "John met John and John."
    a = align(src, "[FIRSTNAME] met [FIRSTNAME] and John.")
    assert [(s.start, s.end) for s in a.spans] == [(0, 4), (9, 13)]
    b = align(src, "John met [FIRSTNAME] and [FIRSTNAME].")
    assert [(s.start, s.end) for s in b.spans] == [(9, 13), (18, 22)]


def test_literal_brackets_are_not_placeholders() -> None:
    src = "He wrote [sic] and cites [1] to Anna"
    a = align(src, "He wrote [sic] and cites [1] to [FIRSTNAME]")
    assert values(a) == [("FIRSTNAME", "Anna")]


def test_unknown_label_is_literal_when_labels_given() -> None:
    src = "Status [URGENT] for Anna"
    masked = "Status [URGENT] for [FIRSTNAME]"
    assert values(align(src, masked, labels=LABELS_200K)) == [("FIRSTNAME", "Anna")]
    # without a label set, [URGENT] is a placeholder - but it occurs in the source, so literal
    assert values(align(src, masked)) == [("FIRSTNAME", "Anna")]


def test_template_token_kept_in_source_is_literal() -> None:
    src = "Send from [ACCOUNTNUMBER_N] to Anna"
    a = align(src, "Send from [ACCOUNTNUMBER_N] to [FIRSTNAME]")
    assert values(a) == [("FIRSTNAME", "Anna")]


def test_unicode_values_and_context() -> None:
    src = "Grüße an Zoë Ångström – ₩1,000 bezahlt 😀"
    a = align(src, "Grüße an [FIRSTNAME] [LASTNAME] – [CURRENCYSYMBOL][AMOUNT] bezahlt 😀")
    assert values(a) == [
        ("FIRSTNAME", "Zoë"),
        ("LASTNAME", "Ångström"),
        ("CURRENCYSYMBOL", "₩"),
        ("AMOUNT", "1,000"),
    ]
    for s in a.spans:
        assert src[s.start : s.end] == s.value


def test_rewritten_text_still_recovers_anchored_spans() -> None:
    src = "Dear John Smith, your order of 5 items shipped. Thanks!"
    a = align(src, "Dear [NAME], your order has shipped. Thanks!")
    assert not a.faithful and "rewritten" in a.issues
    assert values(a) == [("NAME", "John Smith")]
    assert a.changes  # offsets of the rewritten region
    s0, s1, m0, m1 = a.changes[0]
    assert src[s0:s1] == "of 5 items "[: s1 - s0]
    assert 0 <= m0 <= m1


def test_inserted_tag_with_kept_value_is_unfaithful() -> None:
    src = "Device bearing IMEI: 06-184755-866851-3. It is in our Optimization class. Bye."
    masked = "Device bearing [IMEI] : 06-184755-866851-3. It is in our [CLASS]. Bye."
    a = align(src, masked)
    assert not a.faithful
    assert ("CLASS", "Optimization class") in values(a)


def test_rewritten_adjacent_placeholders_are_split() -> None:
    src = "Dear Mr.Smith, pay £40 now."
    a = align(src, "Dear [PREFIX][LASTNAME], please pay [CURRENCYSYMBOL][AMOUNT] now.")
    assert not a.faithful
    assert values(a) == [("PREFIX", "Mr."), ("LASTNAME", "Smith"), ("CURRENCYSYMBOL", "£"),
                         ("AMOUNT", "40")]  # fmt: skip


def test_unanchorable_placeholder_is_reported() -> None:
    a = align("Dear Mr.Smith, pay now.", "Hi [PREFIX][LASTNAME], pay now please.")
    assert not a.faithful and "unanchored_placeholder" in a.issues
    assert a.spans == ()


def test_masked_longer_than_possible_is_unfaithful() -> None:
    a = align("ab", "[A][B][C]")
    assert not a.faithful


def test_split_masked_positions() -> None:
    p = split_masked("a [X] b [Y_2]")
    assert p.literals == ("a ", " b ", "")
    assert p.labels == ("X", "Y")
    assert p.positions == ((2, 5), (8, 13))
    assert p.literal_starts == (0, 5, 13)


# -- properties ------------------------------------------------------------------------------

_WORD = st.text(alphabet="abcdefghij XYZ,.-éß😀", min_size=1, max_size=6)
# PII values never start or end with whitespace (the aligner relies on it to split groups)
_VALUE = _WORD.filter(lambda v: v.strip() == v)
_LABELS = st.sampled_from(["KEY", "CODE", "THING"])  # labels without a value shape


@st.composite
def source_and_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    parts = draw(st.lists(st.tuples(_WORD, _VALUE, _LABELS), min_size=0, max_size=5))
    tail = draw(st.text(alphabet="abc .", max_size=4))
    sep_required = draw(st.booleans())
    text, spans = "", []
    for lit, val, lab in parts:
        if sep_required or spans == []:
            text += lit
        start = len(text)
        text += val
        spans.append(Span(start, len(text), lab, val))
    return text + tail, spans


@settings(max_examples=150, deadline=None)
@given(source_and_spans())
def test_render_then_align_roundtrip(data: tuple[str, list[Span]]) -> None:
    source, spans = data
    masked = render(source, spans)
    a = align(source, masked)
    assert a.faithful
    assert len(a.spans) == len(spans)
    assert render(source, a.spans) == masked  # any returned placement reproduces the text
    if not a.ambiguous:
        assert list(a.spans) == spans
    for s in a.spans:
        assert source[s.start : s.end] == s.value and s.end > s.start


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_align_never_crashes_and_spans_are_valid(source: str, masked: str) -> None:
    a = align(source, masked)
    prev = 0
    for s in a.spans:
        assert source[s.start : s.end] == s.value
        assert s.start >= prev
        prev = s.end


def test_fits() -> None:
    from pii_gemini._align import fits

    assert fits("Call Ann now", "Call [FIRSTNAME] now")
    assert not fits("Call Ann now", "Call [FIRSTNAME] later")
    assert fits("plain", "plain") and not fits("plain", "other")


def test_fits_rejects_early_on_the_text_outside_brackets() -> None:
    from pii_gemini._align import fit_alignment, fits

    # the text before the first "[" / after the last "]" must open / close the source
    assert not fits("Call Ann now", "Sure! Call [FIRSTNAME] now")
    assert not fits("Call Ann now", "Call [FIRSTNAME] now. Note: done")
    # a bracket that is not a placeholder is literal text and must be in the source
    assert fits("See [sic] Ann", "See [sic] [FIRSTNAME]")
    assert not fits("See Ann", "See [sic] [FIRSTNAME]")
    assert fit_alignment("Call Ann now", "Sure! Call [FIRSTNAME] now") is None
    fitted = fit_alignment("Call Ann now", "Call [FIRSTNAME] now")
    assert fitted == align("Call Ann now", "Call [FIRSTNAME] now")
    assert fit_alignment("plain", "plain") == align("plain", "plain")


# The label with a lazy quantifier, as first written: the greedy one must match the same.
_LAZY_PLACEHOLDER_RE = re.compile(r"\[([A-Z][A-Z0-9]*?)(?:_(\d+))?\]")
_BRACKETY = st.text(alphabet="[]_AZ19az ", max_size=30)


def _scan(rx: re.Pattern[str], text: str) -> list[tuple[object, ...]]:
    return [(m.span(), m.groups()) for m in rx.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(_BRACKETY)
def test_greedy_placeholder_re_matches_like_a_lazy_label(text: str) -> None:
    assert _scan(PLACEHOLDER_RE, text) == _scan(_LAZY_PLACEHOLDER_RE, text)


@pytest.mark.parametrize(
    "text", ["[FIRSTNAME_1]", "[GIVENNAME1]", "[A_B]", "x[IP_12_3]]", "[A1_2]"]
)
def test_greedy_placeholder_re_on_indexed_labels(text: str) -> None:
    assert _scan(PLACEHOLDER_RE, text) == _scan(_LAZY_PLACEHOLDER_RE, text)
