"""Split long texts into overlapping pieces and merge the spans found in each.

A text longer than the model's input limit is cut at the last sentence end (else the last
whitespace, else hard) in the second half of each window. The next piece starts ``overlap``
characters earlier, at a word start, so an entity cut by one boundary is seen whole by the
neighbouring piece. Spans found in the pieces are shifted to source offsets and merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ._exceptions import ConfigError
from ._types import Span

__all__ = ["Piece", "default_overlap", "merge_spans", "split_text"]

_MAX_OVERLAP = 200  # characters; enough for any single PII value
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"')\]]*\s+|\n\s*")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Piece:
    """``source[start:end]``, one piece of a long text."""

    start: int
    end: int


def default_overlap(max_chars: int) -> int:
    """The overlap used when none is given: a tenth of the piece, at most 200 characters."""
    return min(_MAX_OVERLAP, max_chars // 10)


def _last_match_end(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    end = None
    for match in pattern.finditer(text, lo, hi):
        if match.end() > lo:
            end = match.end()
    return end


def split_text(text: str, max_chars: int, overlap: int | None = None) -> list[Piece]:
    """Cover ``text`` with pieces of at most ``max_chars`` characters, overlapping."""
    if max_chars < 2:
        raise ConfigError(f"max_chars must be >= 2, got {max_chars}")
    if overlap is None:
        overlap = default_overlap(max_chars)
    if not 0 <= overlap < max_chars // 2:
        raise ConfigError(f"overlap must be in [0, max_chars // 2), got {overlap}")
    n = len(text)
    if n <= max_chars:
        return [Piece(0, n)]
    pieces: list[Piece] = []
    start = 0
    while True:
        limit = start + max_chars
        if limit >= n:
            pieces.append(Piece(start, n))
            return pieces
        lo = start + max_chars // 2
        cut = (
            _last_match_end(_SENTENCE_END, text, lo, limit)
            or _last_match_end(_WHITESPACE, text, lo, limit)
            or limit
        )
        pieces.append(Piece(start, cut))
        nxt = cut - overlap
        if overlap and nxt > 0 and not text[nxt - 1].isspace():
            # Start the next piece at a word start inside the overlap zone.
            match = _WHITESPACE.search(text, nxt, cut)
            nxt = match.end() if match else cut
        start = max(nxt, start + 1)


def merge_spans(source: str, spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sort spans and resolve overlaps: same label -> union, else the longer one wins."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            prev = merged[-1]
            if span.label == prev.label:
                end = max(prev.end, span.end)
                merged[-1] = Span(prev.start, end, prev.label, source[prev.start : end])
            elif span.end - span.start > prev.end - prev.start:
                merged[-1] = Span(span.start, span.end, span.label, source[span.start : span.end])
            continue
        merged.append(Span(span.start, span.end, span.label, source[span.start : span.end]))
    return tuple(merged)
