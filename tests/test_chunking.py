from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._chunking import Piece, default_overlap, merge_spans, split_text
from pii_gemini._exceptions import ConfigError
from pii_gemini._types import Span


def _check_cover(text: str, pieces: list[Piece], max_chars: int) -> None:
    assert pieces[0].start == 0
    assert pieces[-1].end == len(text)
    for a, b in itertools.pairwise(pieces):
        assert a.start < b.start <= a.end  # progress, and no gap
    assert all(p.end - p.start <= max_chars for p in pieces)


def test_short_text_is_one_piece() -> None:
    assert split_text("Hello Alice.", 100) == [Piece(0, 12)]
    assert split_text("", 100) == [Piece(0, 0)]


def test_cuts_at_sentence_ends_with_overlap_at_word_starts() -> None:
    sentences = [f"Sentence number {i} mentions Alice Smith at home." for i in range(40)]
    text = " ".join(sentences)
    pieces = split_text(text, 300, overlap=40)
    assert len(pieces) > 5
    _check_cover(text, pieces, 300)
    for a, b in itertools.pairwise(pieces):
        assert text[a.end - 2 : a.end] == ". "  # a sentence boundary
        assert a.end - b.start <= 40 + 20  # overlap about as asked (word start)
        assert b.start == 0 or text[b.start - 1] == " "  # starts at a word


def test_falls_back_to_whitespace_then_hard_cut() -> None:
    words = " ".join(["word"] * 200)
    pieces = split_text(words, 97, overlap=9)
    _check_cover(words, pieces, 97)
    assert all(words[p.end - 1] == " " for p in pieces[:-1])
    blob = "x" * 1000
    pieces = split_text(blob, 100)
    _check_cover(blob, pieces, 100)
    assert [p.end for p in pieces[:-1]] == [p.start + 100 for p in pieces[:-1]]


def test_default_overlap() -> None:
    assert default_overlap(20_000) == 200
    assert default_overlap(500) == 50


@pytest.mark.parametrize(("max_chars", "overlap"), [(1, None), (100, 50), (100, -1)])
def test_bad_settings(max_chars: int, overlap: int | None) -> None:
    with pytest.raises(ConfigError):
        split_text("some text " * 50, max_chars, overlap)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab .\n!?"), max_size=2000),
    max_chars=st.integers(min_value=10, max_value=300),
    overlap_frac=st.floats(min_value=0.0, max_value=0.45),
)
def test_pieces_always_cover_the_text(text: str, max_chars: int, overlap_frac: float) -> None:
    overlap = int(max_chars * overlap_frac)
    if overlap >= max_chars // 2:
        overlap = max_chars // 2 - 1
    pieces = split_text(text, max_chars, overlap)
    _check_cover(text, pieces, max_chars)


def test_merge_spans_dedupes_unions_and_prefers_longer() -> None:
    source = "Call John Smith at 555-1234 today, John Smith."
    spans = [
        Span(5, 9, "FIRSTNAME"),  # John, from the piece that ended mid-name
        Span(5, 15, "FIRSTNAME"),  # John Smith, from the next piece
        Span(19, 27, "PHONENUMBER"),
        Span(19, 27, "PHONENUMBER"),  # seen by both pieces
        Span(35, 39, "FIRSTNAME"),
        Span(35, 45, "LASTNAME"),  # longer, other label: wins
    ]
    merged = merge_spans(source, spans)
    assert [(s.start, s.end, s.label) for s in merged] == [
        (5, 15, "FIRSTNAME"),
        (19, 27, "PHONENUMBER"),
        (35, 45, "LASTNAME"),
    ]
    assert [s.value for s in merged] == ["John Smith", "555-1234", "John Smith"]
    assert merge_spans(source, []) == ()
