"""Tests for nervaluate's four schemes (pii_gemini._schemes) and the character-level score,
checked against the real nervaluate package and scikit-learn."""

from __future__ import annotations

from typing import Any

import pytest
from test_iob import perturbed

from pii_gemini import ConfigError, metrics
from pii_gemini._schemes import SCHEMES, score_schemes

_NERVALUATE_NAME = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
_FIELDS = ("correct", "incorrect", "partial", "missed", "spurious", "possible", "actual")


def _assert_same(ours: dict[str, object], theirs: object) -> None:
    for name in _FIELDS:
        assert ours[name] == getattr(theirs, name), name
    for name in ("precision", "recall", "f1"):
        assert ours[name] == pytest.approx(getattr(theirs, name), abs=1e-12), name


def _entities(starts: Any, ends: Any, labels: Any) -> list[dict[str, Any]]:
    return [
        {"label": lab, "start": s, "end": e - 1}
        for s, e, lab in zip(starts, ends, labels, strict=True)
    ]


@pytest.fixture(scope="module")
def report() -> metrics.EvaluationReport:
    sources, preds, gold = perturbed(150, seed=11)
    return metrics.evaluate(sources, preds, gold_spans=gold)


def test_token_schemes_agree_with_nervaluate(report: metrics.EvaluationReport) -> None:
    nervaluate = pytest.importorskip("nervaluate")
    tags = report.iob2()
    labels = sorted({t[2:] for row in tags.gold + tags.pred for t in row if t != "O"})
    results = nervaluate.Evaluator(tags.gold, tags.pred, tags=labels, loader="list").evaluate()
    ours = report.ner_schemes()
    assert list(ours.index) == list(SCHEMES)
    for column in ("correct", "incorrect", "missed", "spurious"):  # every case is exercised
        assert ours.loc["strict", column] > 0, column
    assert ours.loc["partial", "partial"] > 0
    for scheme in SCHEMES:
        _assert_same(ours.loc[scheme].to_dict(), results["overall"][_NERVALUATE_NAME[scheme]])
    by_label = report.ner_schemes(by_label=True)
    for label, per_scheme in results["entities"].items():
        for scheme in SCHEMES:
            _assert_same(
                by_label.loc[(label, scheme)].to_dict(), per_scheme[_NERVALUATE_NAME[scheme]]
            )


def test_char_schemes_agree_with_nervaluate(report: metrics.EvaluationReport) -> None:
    nervaluate = pytest.importorskip("nervaluate")
    gold, pred = [], []
    for gs, ge, gl, ps, pe, pl in report._row_spans:  # nervaluate's ends are inclusive
        gold.append(_entities(gs, ge, gl))
        pred.append(_entities(ps, pe, pl))
    labels = sorted({e["label"] for doc in gold + pred for e in doc})
    for overlap in (1.0, 50.0):
        results = nervaluate.Evaluator(
            gold, pred, tags=labels, loader="dict", min_overlap_percentage=overlap
        ).evaluate()["overall"]
        ours = report.ner_schemes(unit="char", min_overlap=overlap)
        for scheme in SCHEMES:
            _assert_same(ours.loc[scheme].to_dict(), results[_NERVALUATE_NAME[scheme]])


def test_greedy_order_is_nervaluate_s() -> None:
    """An earlier prediction that only overlaps a gold entity claims it: a later exact one
    is then spurious (nervaluate's greedy matching, kept number for number)."""
    overall, _ = score_schemes([([("A", 0, 10)], [("A", 0, 5), ("A", 0, 10)])])
    strict = overall["strict"].scores(half_partial=False)
    assert (strict["correct"], strict["incorrect"], strict["spurious"]) == (0, 1, 1)


def test_char_scores_agree_with_scikit_learn(report: metrics.EvaluationReport) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    truth: list[int] = []
    guess: list[int] = []
    for source, (gs, ge, _, ps, pe, _) in zip(
        report.rows(show_pii=True)["source"], report._row_spans, strict=True
    ):
        g, p = [0] * len(source), [0] * len(source)
        for s, e in zip(gs, ge, strict=True):
            g[s:e] = [1] * (e - s)
        for s, e in zip(ps, pe, strict=True):
            p[s:e] = [1] * (e - s)
        truth += g
        guess += p
    precision, recall, f1, _ = sk.precision_recall_fscore_support(truth, guess, average="binary")
    assert report.char.precision == pytest.approx(precision, abs=1e-12)
    assert report.char.recall == pytest.approx(recall, abs=1e-12)
    assert report.char.f1 == pytest.approx(f1, abs=1e-12)
    assert report["char_f1"] == report.char.f1


def test_bad_scheme_arguments_are_config_errors(report: metrics.EvaluationReport) -> None:
    with pytest.raises(ConfigError):
        report.ner_schemes(unit="word")
    with pytest.raises(ConfigError):
        report.ner_schemes(min_overlap=0.5)
