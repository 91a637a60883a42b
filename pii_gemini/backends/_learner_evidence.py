"""What a training example teaches the fake's learner, and how its spans are chosen.

``_facts`` lists the evidence one example gives: each value with its label, its pattern and
its context cue (the word before it, or the label of the value before it), and the same
things seen as plain text as negative evidence. ``_resolve`` keeps the best non-overlapping
candidate spans; ``_masking_error`` scores a prediction against the gold spans (the loss);
``_zero_shot_spans`` is what an untuned chat model masks on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ._learner_patterns import _FAMILIES, pattern_key

__all__ = ["Fact", "Triple"]

Triple = tuple[int, int, str]  # start, end, label
Fact = tuple[str, str, str]  # kind, key, label ("" for negative facts)

_TOKEN_RE = re.compile(r"\S+")
_STRIP_CHARS = ".,;:!?()[]{}\"'«»“”‘’"

# What an untuned chat model masks on its own, with generic labels.
_ZERO_SHOT = (
    ("EMAIL", re.compile(r"(?<!\w)" + _FAMILIES["email"] + r"(?!\w)")),
    ("PHONE", re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{7,}\d(?!\w)")),
)


def _norm_word(token: str) -> str:
    return token.strip(_STRIP_CHARS).lower()


def _facts(text: str, spans: Sequence[Triple]) -> list[Fact]:
    """Everything one example (text, gold spans) can teach: positive and negative evidence."""
    labels_at = _labels_at(spans)
    facts: list[Fact] = []
    for start, end, label in spans:
        value = text[start:end]
        facts.append(("lex", value, label))
        key = pattern_key(value)
        if key is not None:
            facts.append(("pat", key, label))
        cue = _cue_before(text, start, labels_at)
        if cue:
            facts.append(("cue", cue, label))
    for token in _TOKEN_RE.finditer(text):
        if any(i in labels_at for i in range(token.start(), token.end())):
            continue
        word = token.group().strip(_STRIP_CHARS)
        if not word:
            continue
        facts.append(("plain", word, ""))
        key = pattern_key(word)
        if key is not None:
            facts.append(("patneg", key, ""))
        cue = _cue_before(text, token.start(), labels_at)
        if cue:
            facts.append(("cueneg", cue, ""))
    return facts


def _labels_at(spans: Iterable[Triple]) -> dict[int, str]:
    return {i: label for start, end, label in spans for i in range(start, end)}


def _cue_before(text: str, pos: int, labels_at: dict[int, str]) -> str:
    """The context cue of whatever starts at ``pos``: the previous word, lower-cased, or
    ``<LABEL>`` when the previous thing is a value of that label (``<GIVENNAME>`` before a
    surname)."""
    j = pos - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    if j < 0:
        return ""
    if j in labels_at:
        return f"<{labels_at[j]}>"
    start = j
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return _norm_word(text[start : j + 1])


def _resolve(candidates: list[tuple[int, int, int, str]]) -> list[Triple]:
    """Keep the best non-overlapping candidates: longer first, then lexicon > pattern > cue.

    Longest first, so that a short known value (``12``) cannot cut a long pattern match
    (a user agent containing ``Android 12.1``) to pieces.
    """
    chosen: list[Triple] = []
    taken: set[int] = set()
    for _, start, end, label in sorted(candidates, key=lambda c: (c[1] - c[2], c[0], c[1])):
        if start >= end or any(i in taken for i in range(start, end)):
            continue
        chosen.append((start, end, label))
        taken.update(range(start, end))
    return sorted(chosen)


def _masking_error(predicted: Sequence[Triple], gold: Sequence[Triple]) -> float:
    """Missed + wrongly masked characters (+ half for a wrong label), per gold character."""
    gold_chars = {i: label for start, end, label in gold for i in range(start, end)}
    pred_chars = {i: label for start, end, label in predicted for i in range(start, end)}
    missed = sum(1 for i in gold_chars if i not in pred_chars)
    false = sum(1 for i in pred_chars if i not in gold_chars)
    wrong = sum(1 for i, lab in gold_chars.items() if i in pred_chars and pred_chars[i] != lab)
    return (missed + false + 0.5 * wrong) / max(len(gold_chars), 10)


def _zero_shot_spans(text: str) -> list[Triple]:
    candidates = [
        (priority, m.start(), m.end(), label)
        for priority, (label, regex) in enumerate(_ZERO_SHOT)
        for m in regex.finditer(text)
    ]
    return _resolve(candidates)
