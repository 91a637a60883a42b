"""Tests for the IOB2 export (pii_gemini._iob) and its figures against the real seqeval."""

from __future__ import annotations

import random

import pytest

from pii_gemini import metrics
from pii_gemini._entities import render_masked
from pii_gemini._exceptions import ConfigError
from pii_gemini._iob import iob2_entities, to_iob2, tokenize
from pii_gemini._types import Span
from pii_gemini.synthetic import generate_rows


def test_tokenisation_is_words_and_single_symbols() -> None:
    text = "Ann's card 4111-1111, ok?"
    assert [text[a:b] for a, b in tokenize(text)] == [
        "Ann", "'", "s", "card", "4111", "-", "1111", ",", "ok", "?",
    ]  # fmt: skip
    assert tokenize("  ") == [] and tokenize("Zoë Müller") == [(0, 3), (4, 10)]


def test_tags_follow_the_spans() -> None:
    text = "Call Ann Lee at 555-0101 now"
    spans = [Span(5, 8, "FIRSTNAME"), Span(9, 12, "LASTNAME"), Span(16, 24, "PHONENUMBER")]
    tokens, tags = to_iob2(text, spans)
    assert tokens == ["Call", "Ann", "Lee", "at", "555", "-", "0101", "now"]
    assert tags == [
        "O", "B-FIRSTNAME", "B-LASTNAME", "O", "B-PHONENUMBER", "I-PHONENUMBER",
        "I-PHONENUMBER", "O",
    ]  # fmt: skip
    assert iob2_entities(tags) == [("FIRSTNAME", 1, 2), ("LASTNAME", 2, 3), ("PHONENUMBER", 4, 7)]


def test_a_token_shared_by_two_spans_goes_to_the_first() -> None:
    """ "25years": AGE "25" and a span on "years" share one token; the second is lost."""
    tokens, tags = to_iob2("aged 25years", [Span(5, 7, "AGE"), Span(7, 12, "X")])
    assert tokens == ["aged", "25years"] and tags == ["O", "B-AGE"]


def test_bad_spans_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        to_iob2("abcdef", [Span(0, 3, "A"), Span(2, 4, "B")])
    with pytest.raises(ConfigError, match="beyond"):
        to_iob2("abc", [Span(0, 9, "A")])
    with pytest.raises(ConfigError):
        to_iob2("abc", [(0, 1, "A")])  # type: ignore[list-item]


def perturbed(rows: int, seed: int) -> tuple[list[str], list[str], list[list[dict[str, object]]]]:
    """Generated rows and imperfect predictions of them: spans dropped, relabelled, widened
    over the next word, merged with a neighbour, and spurious spans on plain words."""
    df = generate_rows(rows, seed=seed, languages=("en", "fr", "de", "it"))
    rng = random.Random(seed)
    sources, preds = df["source_text"].tolist(), []
    for text, mask in zip(sources, df["privacy_mask"], strict=True):
        spans: list[Span] = []
        for d in mask:
            s, e, label = int(d["start"]), int(d["end"]), str(d["label"])
            roll = rng.random()
            if roll < 0.15:
                continue  # missed
            if roll < 0.3:
                label = "NAME" if label != "NAME" else "CITY"  # wrong label
            elif roll < 0.4 and text.find(" ", e + 1) > 0:
                e = text.find(" ", e + 1)  # the span runs over the next word
            if spans and spans[-1].end > s:
                continue
            spans.append(Span(s, e, label))
        words = [i for i, ch in enumerate(text) if ch == " "]
        if words and rng.random() < 0.3:  # a spurious span on a plain word
            at = rng.choice(words) + 1
            end = text.find(" ", at)
            end = len(text) if end < 0 else end
            if end > at and all(sp.end <= at or sp.start >= end for sp in spans):
                spans.append(Span(at, end, "USERNAME"))
        preds.append(render_masked(text, spans))
    return sources, preds, df["privacy_mask"].tolist()


def test_iob2_scores_agree_with_seqeval() -> None:
    seqeval_metrics = pytest.importorskip("seqeval.metrics")
    sources, preds, gold = perturbed(120, seed=5)
    report = metrics.evaluate(sources, preds, gold_spans=gold)
    tags = report.iob2()
    assert len(tags.gold) == len(sources) and tags.tokens == []
    ours = report.iob2_scores()
    for fn, ref in (
        (seqeval_metrics.precision_score, ours.precision),
        (seqeval_metrics.recall_score, ours.recall),
        (seqeval_metrics.f1_score, ours.f1),
    ):
        assert fn(tags.gold, tags.pred) == pytest.approx(ref, abs=1e-12)
    assert 0.3 < ours.f1 < 0.95  # the perturbation left something to measure
    unmasked = metrics.evaluate(sources, sources, gold_spans=gold)
    assert seqeval_metrics.recall_score(unmasked.iob2().gold, unmasked.iob2().pred) == 0.0
    assert unmasked.iob2_scores().recall == 0.0
    words = report.iob2(show_pii=True).tokens
    assert [len(w) for w in words] == [len(t) for t in tags.gold]
