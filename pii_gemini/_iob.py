"""IOB2 tags over a documented tokenisation: what seqeval, nervaluate and token-level
NER tools read.

**Tokenisation.** A token is a run of word characters (``\\w+``: letters, digits and ``_``
in any script) or a single character that is neither a word character nor whitespace
(``"Ann's card 4111-1111"`` gives ``Ann ' s card 4111 - 1111``); whitespace separates
tokens and is never one. Offsets are character offsets into the text.

**Tags.** A token takes the label of the first span it overlaps (any shared character):
``B-LABEL`` on the span's first token, ``I-LABEL`` on the next ones, ``O`` outside every
span; two spans side by side each start with a ``B-``. A token shared by two spans (one
word holding two values, as "Mr.Smith" does not: ``Mr`` ``.`` ``Smith`` are three tokens,
but "25years" is one) goes to the first span, and a span left with no token of its own is
lost in the token view. The character-level and span scores are exact either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

from ._exceptions import ConfigError
from ._types import Span

__all__ = ["TOKEN_RE", "iob2_entities", "iob2_tags", "to_iob2", "tokenize"]

TOKEN_RE: re.Pattern[str] = re.compile(r"\w+|[^\w\s]")
"""One token: a run of word characters, or one other non-space character."""


def tokenize(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each token of ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        raise ConfigError(f"tokenize expects a str, got {type(text).__name__}")
    return [m.span() for m in TOKEN_RE.finditer(text)]


def iob2_tags(
    tokens: Sequence[tuple[int, int]],
    starts: Sequence[int],
    ends: Sequence[int],
    labels: Sequence[str],
) -> list[str]:
    """IOB2 tags of ``tokens`` for spans given as parallel lists sorted by start, disjoint."""
    tags = ["O"] * len(tokens)
    j = 0
    n = len(starts)
    owner = -1  # the span that tagged the previous token
    for i, (t_start, t_end) in enumerate(tokens):
        while j < n and ends[j] <= t_start:
            j += 1
        if j < n and starts[j] < t_end:  # the first span that ends after the token starts
            tags[i] = ("I-" if owner == j else "B-") + labels[j]
            owner = j
        else:
            owner = -1
    return tags


def to_iob2(text: str, spans: Iterable[Span]) -> tuple[list[str], list[str]]:
    """The tokens of ``text`` and their IOB2 tags for ``spans`` (offsets into ``text``).

    ``seqeval.metrics.f1_score([gold_tags], [pred_tags])`` then scores a prediction.
    Spans must not overlap.
    """
    items = sorted(_checked(spans, len(text) if isinstance(text, str) else 0))
    tokens = tokenize(text)
    tags = iob2_tags(
        tokens, [s for s, _, _ in items], [e for _, e, _ in items], [lab for _, _, lab in items]
    )
    return [text[a:b] for a, b in tokens], tags


def _checked(spans: Iterable[Span], n_chars: int) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for k, span in enumerate(spans):
        if not isinstance(span, Span):
            raise ConfigError(f"span {k} must be a Span, got {type(span).__name__}")
        if span.end > n_chars:
            raise ConfigError(f"span {k} ends at {span.end}, beyond the text ({n_chars} chars)")
        out.append((span.start, span.end, span.label))
    out.sort()
    if any(b[0] < a[1] for a, b in pairwise(out)):
        raise ConfigError("spans overlap")
    return out


def iob2_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(label, first token, last token + 1)`` of each entity in well-formed IOB2 tags
    (an ``I-`` after ``O`` or after another label opens an entity, as seqeval reads it)."""
    out: list[tuple[str, int, int]] = []
    label = ""
    start = -1
    for i, tag in enumerate([*tags, "O"]):
        kind, _, lab = tag.partition("-")
        if start >= 0 and (kind != "I" or lab != label):
            out.append((label, start, i))
            start = -1
        if kind == "B" or (kind == "I" and start < 0):
            label, start = lab, i
    return out
